//! weft-network end to end.

mod private_data;
mod readme;
