"""doctor: a read-only diagnosis of a developer's real database.

One module per question it answers: which database (target), which revision it is at
(revision), which revision its schema really matches (match), what was made by hand
(handmade), how it compares with the models (models); history builds the schema after
each revision on a throwaway server, and report prints the answers.
"""
