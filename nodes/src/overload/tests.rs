//! The service and a caller, one handler at a time.
