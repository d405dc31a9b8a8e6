"""Staff pages for the warehouse floor: counting stock with a barcode scanner at /floor/count/."""
