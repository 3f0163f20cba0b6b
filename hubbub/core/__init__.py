"""The publishing core: everything the site build and the comment service both use to write the
static site. It imports neither Flask nor SQLAlchemy nor Alembic (a test holds it to that).

- threadfile: the published-comments file of a thread, the contract between service and build
- tree, avatars: a thread's comments as the template draws them
- render: the theme's comment templates rendered outside Pelican, as the build renders them
- feeds: comment feeds (Atom, RSS)
- manifest, publish_state: what the build tells the publisher, and what the publisher remembers
- publisher: approved comments into thread files and built pages, in place
- atomic, lock, background, deploy: writing files safely, one writer at a time, in a child, elsewhere
- identity: the salted author key that stands for a commenter's email
- weburl: the one check of a web address
- words: counts in the commands' English ("1 comment", "2 comments")
"""
