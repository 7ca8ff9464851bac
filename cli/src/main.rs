//! `jcwatch`: the command-line tool. Parses arguments and maps errors to exit codes; the
//! work happens in the library crates.

fn main() {}
