"""``edgekit report``: the results store as Markdown, a self-contained HTML page and PNG plots."""
