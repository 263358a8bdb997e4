# A Ruby exception raised while handling a library error: the cause (JSON::ParserError) is printed after.
# EXPECT type=ArgumentError function=handle category=internal_error
# REQUIRES-BINARY ruby

require "json"

def parse_order(raw)
  JSON.parse(raw)
end

def handle(raw)
  parse_order(raw)
rescue JSON::ParserError
  raise ArgumentError, "bad order payload" # RAISE-SITE
end

handle("{not json")
