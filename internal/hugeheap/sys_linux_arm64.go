package hugeheap

// sysMadvise is madvise(2)'s number on linux/arm64.
const sysMadvise = 233
