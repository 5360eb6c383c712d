package hugeheap

// sysMadvise is madvise(2)'s number on linux/amd64.
const sysMadvise = 28
