//! Loopback contract server (to be written).
