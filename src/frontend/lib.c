// SPDX-License-Identifier: MIT
/*
 * libsoftiommu: the public API is implemented in frontend/api.c (linked whole from
 * softiommu_core); this unit only anchors the library targets.
 */
#include <softiommu/softiommu.h>
