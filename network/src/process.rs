//! Process mode (to come).
