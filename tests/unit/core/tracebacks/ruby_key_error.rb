# A Ruby KeyError from Hash#fetch (a method written in C, reported at its caller's line).
# EXPECT type=KeyError function=price_of category=internal_error
# REQUIRES-BINARY ruby

def price_of(prices, item)
  prices.fetch(item) # RAISE-SITE
end

def total(cart)
  cart.sum { |item| price_of({ "apple" => 1 }, item) }
end

puts total(%w[apple pear])
