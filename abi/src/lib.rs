//! The NEURON system-call contract.
#![no_std]
