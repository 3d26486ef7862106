"""Corpus I/O: readers, documents and page text, chunking, words, languages, JSONL, prompt hygiene."""
