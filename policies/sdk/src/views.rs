//! Typed views of Lambda events (placeholder; filled in by the views work).
