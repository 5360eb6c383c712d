# The x86-64 primer of package hugetext: the whole ELF image (header and
# program headers from ../asmgen/elf_amd64.inc, code), in GNU as syntax.
# zprogram.go holds its bytes:
# `go generate ./internal/hugetext` assembles this file again and
# rewrites zprogram.go; TestProgramMatchesSource checks the two agree.
#
# polc starts it with its own executable open at EXE and the read end of
# a pipe at WAIT, whose write end polc holds until it exits. It reads
# WAIT until the end of file (polc is gone: no process of this launch
# maps the executable any more), maps the executable at a 2 MiB boundary
# and marks the mapping MADV_HUGEPAGE; then, for each of the COUNT 2 MiB
# ranges at the file offsets RANGES (those polc's mappings can map with
# a huge page), drops that part of the page cache (POSIX_FADV_DONTNEED:
# only pages no process maps) and faults it back in (MADV_POPULATE_READ):
# the kernel reads it in a 2 MiB folio, which later starts of polc map
# with one huge page. It never writes: exit 0 when
# done, 1 when a call failed. SIZE (the executable's size), EXE, WAIT,
# COUNT and RANGES are the param block's, which polc fills in.

	.intel_syntax noprefix
	.include "../asmgen/elf_amd64.inc"
	.set BASE, 0x400000		# the image, read and execute
	.set DATA, 0x600000		# the same image again, read and write
	.set SYS_read, 0
	.set SYS_mmap, 9
	.set SYS_madvise, 28
	.set SYS_fdatasync, 75
	.set SYS_fadvise64, 221
	.set SYS_exit_group, 231
	.set EINTR, 4
	.set POSIX_FADV_DONTNEED, 4
	.set PROT_READ, 1
	.set MAP_PRIVATE, 0x02
	.set MAP_FIXED, 0x10
	.set MAP_ANONYMOUS, 0x20
	.set MADV_HUGEPAGE, 14
	.set MADV_POPULATE_READ, 22
	.set HUGE, 0x200000

	.text
	elfimage

# The param block, filled in by polc (offsets in zprogram.go).
size:	.quad 0					# the executable's size in bytes
exe:	.long -1				# the executable, open for reading
wait:	.long -1				# the pipe's read end
count:	.long 0					# how many of RANGES to prime
	.long 0
ranges:	.fill 16, 8, 0				# file offsets of 2 MiB ranges

start:
	mov eax, SYS_read			# read(WAIT, buf, 1) until 0 or an error
	mov edi, dword ptr [BASE + wait - image]
	lea rsi, [DATA + buf - image]
	mov edx, 1
	syscall
	cmp rax, -EINTR
	je start
	test rax, rax
	jg start				# polc writes nothing, but a byte is no end

	mov eax, SYS_fdatasync			# fdatasync(EXE): dirty pages (a new build's) cannot be dropped
	mov edi, dword ptr [BASE + exe - image]
	syscall
	test rax, rax
	jnz fail

	mov eax, SYS_mmap			# mmap(0, SIZE + HUGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
	xor edi, edi
	mov rsi, qword ptr [BASE + size - image]
	add rsi, HUGE
	mov edx, PROT_READ
	mov r10d, MAP_PRIVATE | MAP_ANONYMOUS
	mov r8, -1
	xor r9d, r9d
	syscall
	cmp rax, -4095
	jae fail
	add rax, HUGE - 1			# its first 2 MiB boundary
	and rax, -HUGE
	mov rbx, rax

	mov eax, SYS_mmap			# mmap(that, SIZE, PROT_READ, MAP_PRIVATE|MAP_FIXED, EXE, 0)
	mov rdi, rbx
	mov rsi, qword ptr [BASE + size - image]
	mov edx, PROT_READ
	mov r10d, MAP_PRIVATE | MAP_FIXED
	mov r8d, dword ptr [BASE + exe - image]
	xor r9d, r9d
	syscall
	cmp rax, rbx
	jne fail

	mov eax, SYS_madvise			# madvise(that, SIZE, MADV_HUGEPAGE)
	mov rdi, rbx
	mov rsi, qword ptr [BASE + size - image]
	mov edx, MADV_HUGEPAGE
	syscall
	test rax, rax
	jnz fail

	# One 2 MiB range at a time, so that a polc starting meanwhile can get
	# in the way of one range at most: drop the range's pages, fault it
	# back in.
	xor r12d, r12d				# the range's index in RANGES
range:	cmp r12d, dword ptr [BASE + count - image]
	jae done
	mov r13, qword ptr [BASE + ranges - image + r12*8]

	mov eax, SYS_fadvise64			# fadvise64(EXE, offset, HUGE, POSIX_FADV_DONTNEED)
	mov edi, dword ptr [BASE + exe - image]
	mov rsi, r13
	mov edx, HUGE
	mov r10d, POSIX_FADV_DONTNEED
	syscall
	test rax, rax
	jnz fail

	mov eax, SYS_madvise			# madvise(that + offset, HUGE, MADV_POPULATE_READ)
	lea rdi, [rbx + r13]
	mov esi, HUGE
	mov edx, MADV_POPULATE_READ
	syscall
	test rax, rax
	jnz fail
	inc r12d
	jmp range

done:
	mov eax, SYS_exit_group
	xor edi, edi
	syscall
fail:
	mov eax, SYS_exit_group
	mov edi, 1
	syscall

buf:	.byte 0
end:
