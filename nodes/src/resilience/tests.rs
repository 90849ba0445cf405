//! The service and its sources, one handler at a time and together.

use super::*;
