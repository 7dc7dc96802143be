//! Output formats. (being written)
