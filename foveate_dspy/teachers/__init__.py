"""Teachers: model strings and sampling, local GGUF serving, output modes, adapters and reply reading, the offline rules teacher."""
