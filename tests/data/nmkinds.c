/* Every kind of symbol nm distinguishes, for the ELF source's nm-exactness test:
 * compiled with gcc -c -fcommon and compared with `nm -p`. */
int common_var;                                   /* C */
__thread int tls_var = 1;                         /* D (.tdata) */
static __thread int tls_local __attribute__((used)); /* b (.tbss) */
const int ro = 1;                                 /* R */
static const int ro_local __attribute__((used)) = 2; /* r */
int data = 3;                                     /* D */
static int bss_local __attribute__((used));       /* b */
int bss_global;                                   /* B with -fno-common... C here */
int __attribute__((weak)) weak_fn(void) { return 1; }   /* W */
extern int __attribute__((weak)) weak_undef(void);      /* w */
int __attribute__((weak)) weak_obj = 5;                 /* V */
static int ifunc_impl(void) { return 0; }
static int (*resolver(void))(void) { return ifunc_impl; }
int ifunc_fn(void) __attribute__((ifunc("resolver")));  /* i */
extern int undef_fn(void);                              /* U */
__attribute__((section(".text.unlikely"))) void cold(void) {}  /* T */
static void local_fn(void) __attribute__((used));
static void local_fn(void) {}                           /* t */

asm(".globl abs_sym\n abs_sym = 0x1234\n"                /* A */
    "local_abs = 0x10\n"                                 /* a */
    ".pushsection .debug_ksql,\"\",@progbits\n local_dbg: .byte 0\n.popsection\n"  /* N */
    ".pushsection .note_ksql,\"\",@progbits\n local_note: .byte 0\n.popsection\n"); /* n */

int use(void)
{
	return undef_fn() + (weak_undef ? weak_undef() : 0) + ifunc_fn() + common_var + tls_var;
}
