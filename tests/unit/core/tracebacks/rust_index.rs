// A Rust panic from an out-of-bounds index, run with RUST_BACKTRACE=1.
// EXPECT type=panic function=rust_index::price_of category=internal_error
// REQUIRES-BINARY rustc

fn price_of(prices: &[u32], i: usize) -> u32 {
    prices[i] // RAISE-SITE
}

fn main() {
    let prices = vec![1, 2, 3];
    let i = std::env::args().count() + 4;
    println!("{}", price_of(&prices, i));
}
