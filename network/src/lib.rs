//! `weft-network`: stand up and tear down local weft networks. **Not implemented yet**
//! (issue: Client SDK, weft-network); this crate is empty on purpose.
