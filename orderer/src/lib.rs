//! The weft ordering service: Raft per channel (raft-rs), Broadcast and Deliver, block cutting,
//! channel participation. **Not implemented yet** (issue: Orderer); this crate is empty on purpose.
