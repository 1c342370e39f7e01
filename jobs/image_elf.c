/* ELF through libelf (elfutils). What gets programmed is what a loader would
 * put in memory from the file: every PT_LOAD program header with
 * p_filesz > 0, at its PHYSICAL address p_paddr. For Cortex-M firmware that
 * is the load address (LMA): initialised .data lives in RAM (p_vaddr) but
 * its initial values are stored in flash (p_paddr) for the start-up code to
 * copy. The p_memsz - p_filesz tail (.bss) is zeroed at run time, never
 * programmed. See the ELF gABI "Program Header" and the ARM ELF ABI
 * (IHI 0044, "ELF for the Arm Architecture"): Cortex-M images are
 * ELFCLASS32, ELFDATA2LSB, EM_ARM. */
#include "image_internal.h"

#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t elf_once = PTHREAD_ONCE_INIT;
static bool elf_ok;

/* libelf must be told the ELF version the caller understands once, before
 * any other call; pthread_once keeps concurrent first loads race-free. */
static void elf_init(void)
{
    elf_ok = elf_version(EV_CURRENT) != EV_NONE;
}

static const char *machine_name(unsigned m)
{
    switch (m) {
    case EM_386:
        return "Intel 80386";
    case EM_X86_64:
        return "x86-64";
    case EM_AARCH64:
        return "AArch64 (64-bit Arm)";
    case EM_RISCV:
        return "RISC-V";
    case EM_MIPS:
        return "MIPS";
    case EM_PPC:
        return "PowerPC";
    case EM_PPC64:
        return "PowerPC 64";
    case EM_AVR:
        return "AVR";
    case EM_XTENSA:
        return "Xtensa (ESP32)";
    case EM_MSP430:
        return "MSP430";
    case EM_SPARC:
        return "SPARC";
    case EM_68K:
        return "Motorola 68000";
    case EM_SH:
        return "SuperH";
    case EM_ARM:
        return "ARM";
    default:
        return NULL;
    }
}

static img_err check_arch(img_builder *b, Elf *elf)
{
    size_t idlen = 0;
    const char *ident = elf_getident(elf, &idlen);
    if (!ident || idlen < EI_NIDENT)
        return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                        "the ELF header is cut short: the file is truncated; build or export it "
                        "again");
    GElf_Ehdr eh;
    bool have_eh = gelf_getehdr(elf, &eh) != NULL;
    unsigned cls = (unsigned char)ident[EI_CLASS], data = (unsigned char)ident[EI_DATA];
    if (cls != ELFCLASS32 && cls != ELFCLASS64)
        return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                        "the ELF header has an invalid class %u: the file is damaged", cls);
    if (data != ELFDATA2LSB && data != ELFDATA2MSB)
        return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                        "the ELF header has an invalid byte order %u: the file is damaged", data);
    if (!have_eh)
        return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                        "the ELF header cannot be read (%s): the file is truncated or damaged; "
                        "build it again",
                        elf_errmsg(-1));
    if (cls != ELFCLASS32 || data != ELFDATA2LSB || eh.e_machine != EM_ARM) {
        char mbuf[32];
        const char *m = machine_name(eh.e_machine);
        if (!m) {
            snprintf(mbuf, sizeof mbuf, "machine %u", (unsigned)eh.e_machine);
            m = mbuf;
        }
        return img_fail(b->msg, b->msglen, IMG_E_ARCH,
                        "ELF is for %s (%s, %s), not ARM Cortex-M (32-bit, little-endian, "
                        "EM_ARM): build the firmware with arm-none-eabi-gcc for the target",
                        m, cls == ELFCLASS32 ? "32-bit" : "64-bit",
                        data == ELFDATA2LSB ? "little-endian" : "big-endian");
    }
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
        return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                        "ELF is %s, not a linked program: upload the linked .elf, not an "
                        "object file",
                        eh.e_type == ET_REL ? "a relocatable object (.o)" : "not an executable");
    b->has_entry = true;
    b->entry = (uint32_t)eh.e_entry;
    return IMG_OK;
}

static img_err read_segments(img_builder *b, Elf *elf, size_t len)
{
    size_t phnum = 0;
    if (elf_getphdrnum(elf, &phnum) != 0)
        return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                        "the ELF program headers cannot be read (%s): the file is truncated or "
                        "damaged; build it again",
                        elf_errmsg(-1));
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph))
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "program header %zu cannot be read (%s): the file is truncated or "
                            "damaged; build it again",
                            i, elf_errmsg(-1));
        if (ph.p_type != PT_LOAD || ph.p_filesz == 0)
            continue;
        if (ph.p_filesz > ph.p_memsz)
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "program header %zu: %llu bytes in the file but only %llu in memory: "
                            "the file is damaged; build it again",
                            i, (unsigned long long)ph.p_filesz, (unsigned long long)ph.p_memsz);
        if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "program header %zu: %llu bytes at file offset %llu, but the file is "
                            "%zu bytes: it is truncated or damaged; build it again",
                            i, (unsigned long long)ph.p_filesz, (unsigned long long)ph.p_offset,
                            len);
        if (ph.p_filesz > IMAGE_MAX_BYTES)
            return img_fail(b->msg, b->msglen, IMG_E_TOO_BIG,
                            "program header %zu loads %llu bytes, more than the %u (16 MiB) "
                            "Flashline accepts: check this is the right file",
                            i, (unsigned long long)ph.p_filesz, IMAGE_MAX_BYTES);
        /* libelf checks the range against the file once more and hands back
         * the bytes without conversion. */
        Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_BYTE);
        if (!d || d->d_size != ph.p_filesz)
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "program header %zu: its bytes cannot be read (%s): the file is "
                            "truncated or damaged; build it again",
                            i, elf_errmsg(-1));
        img_err e = img_builder_add(b, ph.p_paddr, d->d_buf, d->d_size, (uint32_t)i);
        if (e != IMG_OK)
            return e;
    }
    return IMG_OK;
}

img_err img_parse_elf(img_builder *b, const uint8_t *buf, size_t len)
{
    pthread_once(&elf_once, elf_init);
    if (!elf_ok)
        return img_fail(b->msg, b->msglen, IMG_E_NOMEM,
                        "libelf refuses to start (%s): reinstall libelf", elf_errmsg(-1));
    /* elf_memory() takes a writable buffer and may convert it in place (for
     * the other byte order); work on a private copy so the caller's bytes
     * are never touched. */
    char *copy = malloc(len);
    if (!copy)
        return img_fail(b->msg, b->msglen, IMG_E_NOMEM, "out of memory reading the ELF file");
    memcpy(copy, buf, len);
    img_err e;
    Elf *elf = elf_memory(copy, len);
    if (!elf || elf_kind(elf) != ELF_K_ELF) {
        /* libelf only recognises an ELF whose class and byte order are
         * valid; say which one is not when the magic is there. */
        bool magic = len >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0;
        bool ident_ok = len >= EI_NIDENT &&
                        (buf[EI_CLASS] == ELFCLASS32 || buf[EI_CLASS] == ELFCLASS64) &&
                        (buf[EI_DATA] == ELFDATA2LSB || buf[EI_DATA] == ELFDATA2MSB);
        if (magic && !ident_ok && len >= EI_NIDENT)
            e = img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                         "the ELF header has an invalid class %u or byte order %u: the file is "
                         "damaged; build it again",
                         buf[EI_CLASS], buf[EI_DATA]);
        else if (magic)
            e = img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                         "the ELF header is cut short or damaged (%zu bytes in all): the file is "
                         "truncated; build it again",
                         len);
        else
            e = img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                         "not an ELF file (it does not start with the \\x7F 'ELF' magic): choose "
                         "the right format, or upload the linked .elf");
    } else {
        e = check_arch(b, elf);
        if (e == IMG_OK)
            e = read_segments(b, elf, len);
    }
    elf_end(elf);
    free(copy);
    return e;
}
