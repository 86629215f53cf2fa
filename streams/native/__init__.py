"""Reserved for the native (Rust) hot path of the account stage and the codecs; empty for now."""
