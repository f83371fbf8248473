"""Judging what the fresh build measured (projectside.measure): which lock each revision
takes on the tables that existed before it, what that lock blocks, and what it holds the
lock for (a rewrite, a full scan). The measuring runs on the project's side and reports
plain data; everything here reads that data and runs in the suite's process."""
