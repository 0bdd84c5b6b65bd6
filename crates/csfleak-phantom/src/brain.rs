//! Brain MRI phantoms: midsagittal anatomy with known sagging landmarks, orbits (being written).
