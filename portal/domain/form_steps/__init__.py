"""The 一表申请 form, by part: the answers and what is read from them, and each step's check."""
