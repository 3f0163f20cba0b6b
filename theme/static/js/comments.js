// Progressive enhancement of the reply form; the page works without it.
