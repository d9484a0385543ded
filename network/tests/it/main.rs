//! weft-network end to end.

mod readme;
