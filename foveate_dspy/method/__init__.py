"""The method (the paper's Figure 2): the program, its three levels, answering, re-synthesis, budgets, grouping, validity and the rules."""
