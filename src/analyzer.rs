//! The pipeline: frames in, sessions out. Wires the stages together; no protocol logic here.
