//! weft-network end to end.

mod br2k;
mod certificates;
mod consortium;
mod ed25519;
mod faults;
mod hosted;
mod hosts;
mod k8s;
mod key_level;
mod load;
mod orderer_hosts;
mod peer_faults;
mod private_data;
mod readme;
