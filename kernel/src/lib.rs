//! NEURON kernel core.
#![no_std]
