//! PLACEHOLDER: link layers, implemented by the decode helper.
