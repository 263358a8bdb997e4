// A Rust panic from unwrap() on a parse error, run with RUST_BACKTRACE=1.
// EXPECT type=panic function=rust_unwrap::parse_quantity category=internal_error
// REQUIRES-BINARY rustc

fn parse_quantity(raw: &str) -> u32 {
    raw.parse::<u32>().unwrap() // RAISE-SITE
}

fn main() {
    println!("{}", parse_quantity("three"));
}
