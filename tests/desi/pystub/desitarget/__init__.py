# SPDX-License-Identifier: BSD-3-Clause
"""Stand-in for desitarget: only what desispec imports at load time (see ../README.md)."""
