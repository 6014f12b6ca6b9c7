// A generator of realistic histories.
