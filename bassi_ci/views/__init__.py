"""What `schedule list/show/logs` and `history` show: tasks and their runs as rows and fields.

Presentation only, on top of tasks/ and runs/ (which never import it).
"""
