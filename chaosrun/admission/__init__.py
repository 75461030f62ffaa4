"""Error-budget admission: before an experiment runs, is there budget left to spend on it?"""
