//! Runs the pipeline over one capture. (being written)
