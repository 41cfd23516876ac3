# SPDX-License-Identifier: BSD-3-Clause
"""Stand-in target masks: the bits desispec's sky and frame code refer to."""
import yaml
from desiutil.bitmask import BitMask

_defs = yaml.safe_load("""
desi_mask:
    - [SKY,       32, "Blank sky location"]
    - [STD_FAINT, 33, "Standard star, faint"]
    - [BAD_SKY,   36, "Sky location with a source"]
bgs_mask:
    - [BGS_BRIGHT, 1, "BGS bright"]
zwarn_mask:
    - [SKY,        0, "Sky fiber"]
""")
desi_mask = BitMask('desi_mask', _defs)
bgs_mask = BitMask('bgs_mask', _defs)
zwarn_mask = BitMask('zwarn_mask', _defs)
