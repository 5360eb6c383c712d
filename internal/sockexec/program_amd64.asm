# The x86-64 program of package sockexec: the whole ELF image (header
# and program headers from ../asmgen/elf_amd64.inc, code and data), in
# GNU as syntax. zprogram.go holds its bytes: `go generate
# ./internal/sockexec` assembles this file again (asmgen: as, objcopy and
# nm from binutils) and rewrites zprogram.go; TestProgramMatchesSource
# checks that the two agree.
#
# Run as: /proc/self/fd/SELF PATH ARGV0 [ARGS...], with the socketpair
# to polc at descriptor CTRL. It makes NSOCK TCP sockets (close-on-exec)
# in the network namespace it runs in, sends them to polc in one message
# ('S' and SCM_RIGHTS), closes them, waits for polc's 'G' (polc has
# bound and listens on them), closes CTRL and SELF, and execs PATH with
# ARGV0 [ARGS...] in its own environment; a file the kernel cannot run
# (ENOEXEC) runs under /bin/sh, as execvp(3) does. Exit 125 when a
# socket cannot be made (after telling polc 'E' and the errno) or polc
# does not say 'G'; 127, with a line on stderr, when PATH cannot be run.
# NSOCK, CTRL and SELF are the param block's, which polc fills in.

	.intel_syntax noprefix
	.include "../asmgen/elf_amd64.inc"
	.set BASE, 0x400000		# the image, read and execute
	.set DATA, 0x600000		# the same image again, read and write
	.set AF_INET, 2
	.set SOCK_STREAM_CLOEXEC, 0x80001
	.set SYS_read, 0
	.set SYS_write, 1
	.set SYS_close, 3
	.set SYS_socket, 41
	.set SYS_sendmsg, 46
	.set SYS_execve, 59
	.set SYS_exit_group, 231
	.set ENOEXEC, 8

	.text
	elfimage

# The param block, filled in by polc (offsets in zprogram.go).
nsock:	.long 0					# sockets to make, 1 or 2
ctrl:	.long -1				# the socketpair to polc
self:	.long -1				# this image's descriptor

start:
	mov r12, rsp				# argc, argv..., NULL, envp..., NULL
	cmp qword ptr [r12], 3			# SELF PATH ARGV0 at least
	jb fail
	xor ebx, ebx
make:	cmp ebx, dword ptr [DATA + nsock - image]
	jae send
	mov eax, SYS_socket			# socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0)
	mov edi, AF_INET
	mov esi, SOCK_STREAM_CLOEXEC
	xor edx, edx
	syscall
	test eax, eax
	js sockfail
	mov dword ptr [DATA + fds - image + rbx*4], eax
	inc ebx
	jmp make
send:	mov eax, SYS_sendmsg			# sendmsg(ctrl, &msg, 0): 'S' and the sockets
	mov edi, dword ptr [DATA + ctrl - image]
	mov esi, DATA + msg - image
	xor edx, edx
	syscall
	cmp rax, 1
	jne fail
	xor ebx, ebx
drop:	cmp ebx, dword ptr [DATA + nsock - image]	# polc holds them now
	jae wait
	mov eax, SYS_close
	mov edi, dword ptr [DATA + fds - image + rbx*4]
	syscall
	inc ebx
	jmp drop
wait:	mov eax, SYS_read			# read(ctrl, &gobuf, 1): polc listens
	mov edi, dword ptr [DATA + ctrl - image]
	mov esi, DATA + gobuf - image
	mov edx, 1
	syscall
	cmp rax, 1
	jne fail
	cmp byte ptr [DATA + gobuf - image], 'G'
	jne fail
	mov eax, SYS_close
	mov edi, dword ptr [DATA + ctrl - image]
	syscall
	mov eax, SYS_close
	mov edi, dword ptr [DATA + self - image]
	syscall
	mov rax, qword ptr [r12]		# argc
	lea r13, [r12 + rax*8 + 16]		# envp
	mov r14, qword ptr [r12 + 16]		# PATH
	mov eax, SYS_execve			# execve(PATH, &ARGV0, envp)
	mov rdi, r14
	lea rsi, [r12 + 24]
	mov rdx, r13
	syscall
	cmp rax, -ENOEXEC
	jne noexec
	mov qword ptr [r12 + 24], r14		# execve("/bin/sh", {"/bin/sh", PATH, ARGS...}, envp)
	mov qword ptr [r12 + 16], DATA + binsh - image
	mov eax, SYS_execve
	mov edi, DATA + binsh - image
	lea rsi, [r12 + 16]
	mov rdx, r13
	syscall
noexec:	mov eax, SYS_write			# "polc: cannot execute PATH\n" on stderr
	mov edi, 2
	mov esi, DATA + cannot - image
	mov edx, binsh - cannot
	syscall
	xor edx, edx
len:	cmp byte ptr [r14 + rdx], 0
	je said
	inc rdx
	jmp len
said:	mov eax, SYS_write
	mov edi, 2
	mov rsi, r14
	syscall
	mov eax, SYS_write
	mov edi, 2
	mov esi, DATA + newline - image
	mov edx, 1
	syscall
	mov edi, 127
	jmp exit
sockfail:
	neg eax					# write(ctrl, "E" errno, 2)
	mov byte ptr [DATA + failed - image + 1], al
	mov eax, SYS_write
	mov edi, dword ptr [DATA + ctrl - image]
	mov esi, DATA + failed - image
	mov edx, 2
	syscall
fail:	mov edi, 125
exit:	mov eax, SYS_exit_group
	syscall

	.balign 8
msg:	# struct msghdr
	.quad 0, 0				# no name
	.quad DATA + iov - image, 1		# one iovec
	.quad DATA + cmsg - image
ctllen:	.quad 0					# CMSG_SPACE(4 * nsock), filled in by polc
	.quad 0
iov:	.quad DATA + tag - image, 1
cmsg:	# struct cmsghdr and its descriptors
cmlen:	.quad 0					# CMSG_LEN(4 * nsock), filled in by polc
	.long 1, 1				# SOL_SOCKET, SCM_RIGHTS
fds:	.long -1, -1
tag:	.byte 'S'
failed:	.byte 'E', 0
gobuf:	.byte 0
newline: .byte 10
cannot:	.ascii "polc: cannot execute "
binsh:	.asciz "/bin/sh"
end:
