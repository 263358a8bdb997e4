// An Error thrown from an async function and never caught: only "at" frames, no preamble.
// EXPECT type=Error function=loadInvoice category=internal_error
// REQUIRES-BINARY node

async function loadInvoice(id) {
  await Promise.resolve();
  throw new Error(`invoice ${id} not found`); // RAISE-SITE
}

loadInvoice(7);
