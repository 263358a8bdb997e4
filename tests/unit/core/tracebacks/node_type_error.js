// An uncaught TypeError in Node.js: source preamble, the error line, then "at" frames.
// EXPECT type=TypeError function=profileId category=internal_error
// REQUIRES-BINARY node

function profileId(user) {
  return user.profile.id; // RAISE-SITE
}

function handler(request) {
  return profileId(request.user);
}

handler({ user: {} });
