//! RI cisternography phantoms: In-111 kinetics rendered as planar NM frames (being written).
