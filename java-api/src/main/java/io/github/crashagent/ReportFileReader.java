// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.FutureTask;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Opens, reads and parses report files without trusting them: never through a symbolic link,
 * nothing but a regular file of at most {@link CrashReport#MAX_FILE_SIZE} bytes and, for the files
 * {@link CrashAgent#pendingReports()} finds by itself, only files of the current user that group
 * and others cannot write. Nothing here blocks its caller for longer than the timeout.
 *
 * <p>Why a helper thread: Java cannot open a file with {@code O_NONBLOCK}, and {@code open()} of a
 * FIFO blocks until a writer comes. The file is checked with {@code lstat} first, so no FIFO,
 * device or link gets past that, but it can be replaced between the check and the open. So the
 * open, the read and the parse run on a helper thread and the caller waits at most the timeout
 * (a good report takes well under a millisecond; a parse is bounded by Jackson's limits). A helper stuck
 * in {@code open()} cannot be interrupted; it stays until a writer opens the FIFO, then closes what
 * it got. While {@link #MAX_STUCK} helpers are stuck, further files are refused at once, so a
 * directory of swapped-in FIFOs cannot pile up threads or make every call wait.
 */
final class ReportFileReader {
    /** How long a caller waits for one file to be opened, read and parsed. Generous, for slow disks and network file systems. */
    static final Duration TIMEOUT = Duration.ofSeconds(5);
    /** Helpers that may be stuck at once before files are refused without trying. */
    static final int MAX_STUCK = 4;
    /** The reader {@link CrashReport#read} and {@link CrashAgent#pendingReports()} use. */
    static final ReportFileReader STANDARD = new ReportFileReader(TIMEOUT, null);

    /** What to make of a file's bytes; runs on the helper, so that junk is rejected after its first bytes, not all of them. */
    interface Parser<T> {
        T parse(InputStream in) throws IOException;
    }

    /** Test seam: runs after a file passed its checks, just before it is opened. */
    interface BeforeOpen {
        void run(Path file) throws IOException;
    }

    /** A file refused before parsing: a short reason to count it by, and a message that quotes none of its content. */
    static final class RefusedException extends InvalidCrashReportException {
        private static final long serialVersionUID = 1L;
        private final String reason;

        RefusedException(Path file, String reason, String problem) {
            super(file, problem);
            this.reason = reason;
        }

        /** The kind of refusal, such as {@code not a regular file}, for {@link PendingReports}' summary. */
        String reason() {
            return reason;
        }
    }

    private static final ExecutorService HELPERS = new ThreadPoolExecutor(0, Integer.MAX_VALUE,
            10, TimeUnit.SECONDS, new SynchronousQueue<>(), task -> {
                Thread t = new Thread(task, "crashagent-report-reader");
                t.setDaemon(true);
                return t;
            });

    // NOFOLLOW_LINKS is O_NOFOLLOW: a link swapped in since the check fails to open instead of being followed.
    private static final Set<OpenOption> READ_NO_LINKS = Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);

    private final Duration timeout;
    private final BeforeOpen beforeOpen;
    private final AtomicInteger stuck = new AtomicInteger();

    ReportFileReader(Duration timeout, BeforeOpen beforeOpen) {
        this.timeout = timeout;
        this.beforeOpen = beforeOpen;
    }

    /**
     * Parses a report file.
     *
     * @param ownOnly also require a file of the current user that group and others cannot write
     *        (the rule for the files {@link CrashAgent#pendingReports()} finds by itself)
     * @throws NoSuchFileException when there is no such file
     * @throws RefusedException when the file is not one to read; the message says why
     */
    <T> T read(Path file, boolean ownOnly, Parser<T> parser) throws IOException {
        Attributes before = Attributes.of(file, ownOnly);
        before.check(file, ownOnly);
        if (beforeOpen != null) {
            beforeOpen.run(file);
        }
        if (stuck.get() >= MAX_STUCK) {
            throw new RefusedException(file, "not opened while earlier reads are stuck", "not opened: "
                    + MAX_STUCK + " earlier report files are still stuck opening or reading"
                    + " (FIFOs or devices put in place of report files?)");
        }
        Helper<T> helper = new Helper<>(() -> openAndParse(file, before, ownOnly, parser));
        HELPERS.execute(helper);
        try {
            try {
                return helper.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                if (helper.abandon()) {
                    throw new RefusedException(file, "not read within " + timeout.toMillis() + " ms",
                            "could not be opened and read within " + timeout.toMillis()
                            + " ms (replaced by a FIFO or a device after it was checked?)");
                }
                return helper.get();  // it finished just now: get() does not wait
            }
        } catch (InterruptedException e) {
            helper.abandon();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading crash report " + file);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) throw io;
            if (cause instanceof RuntimeException re) throw re;
            if (cause instanceof Error err) throw err;
            throw new IOException("crash report " + file + ": " + cause, cause);
        }
    }

    /** How many of this reader's helpers are stuck now. */
    int stuck() {
        return stuck.get();
    }

    /** Opens and reads on a helper thread, and knows whether its caller gave up waiting. */
    private final class Helper<T> extends FutureTask<T> {
        private static final int RUNNING = 0;
        private static final int DONE = 1;
        private static final int ABANDONED = 2;
        private final AtomicInteger state = new AtomicInteger(RUNNING);

        Helper(Callable<T> work) {
            super(work);
        }

        @Override
        protected void done() {
            if (!state.compareAndSet(RUNNING, DONE)) {
                stuck.decrementAndGet();  // counted as stuck when its caller gave up; not any more
            }
        }

        /** True when the helper had not finished, and now counts as stuck. */
        boolean abandon() {
            if (state.compareAndSet(RUNNING, ABANDONED)) {
                stuck.incrementAndGet();
                return true;
            }
            return false;
        }
    }

    private static <T> T openAndParse(Path file, Attributes before, boolean ownOnly, Parser<T> parser) throws IOException {
        SeekableByteChannel channel;
        try {
            channel = Files.newByteChannel(file, READ_NO_LINKS);
        } catch (NoSuchFileException e) {
            throw e;
        } catch (IOException e) {
            // A link swapped in fails with ELOOP, whose message says little: name what is there now.
            Attributes.of(file, ownOnly).check(file, ownOnly);
            throw e;
        }
        try (channel) {
            // Java has no fstat() of an open channel, so this checks what it can. The path still names
            // the checked file (the same file key) and still passes the checks, and the size of what
            // was opened (channel.size() is fstat() on the descriptor) is the checked size, which is
            // never 0: a FIFO or a character device reports 0, so one swapped in is caught here,
            // before any read. What is left: someone who may rename entries of the directory (its
            // owner; anyone, if it is writable by others without the sticky bit) swaps in a file of
            // exactly the same size just before the open and puts the checked one back just after
            // it. A report directory of your own and the sticky temp directory do not let others.
            Attributes after = Attributes.of(file, ownOnly);
            after.check(file, ownOnly);
            if (!after.sameFile(before) || channel.size() != before.size) {
                throw changed(file);
            }
            Input in = new Input(channel, before.size, file);
            T result = parser.parse(in);
            if (!in.wholeFileRead()) {
                throw changed(file);  // shorter than it was, yet parsed
            }
            return result;
        }
    }

    /** The checked number of bytes of the channel; a byte more than that means the file changed meanwhile. */
    private static final class Input extends InputStream {
        private final SeekableByteChannel channel;
        private final Path file;
        private long remaining;
        private boolean atEnd;

        Input(SeekableByteChannel channel, long size, Path file) {
            this.channel = channel;
            this.remaining = size;
            this.file = file;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (remaining == 0) {
                if (channel.read(ByteBuffer.allocate(1)) > 0) {
                    throw changed(file);  // longer than it was
                }
                atEnd = true;
                return -1;
            }
            int n = channel.read(ByteBuffer.wrap(b, off, (int) Math.min(len, remaining)));
            if (n > 0) {
                remaining -= n;
            }
            return n;
        }

        boolean wholeFileRead() {
            return atEnd;
        }
    }

    private static RefusedException changed(Path file) {
        return new RefusedException(file, "changed while being read",
                "was replaced or changed while it was being read; read it again");
    }

    private static RefusedException tooLarge(Path file, long size) {
        return new RefusedException(file, "larger than " + (CrashReport.MAX_FILE_SIZE >> 20) + " MiB", "is "
                + size + " bytes, more than the " + CrashReport.MAX_FILE_SIZE + " bytes a crash report can have");
    }

    /** True for a regular file of the current user; a marker someone else made acknowledges nothing. */
    static boolean isOwnRegularFile(Path file) throws IOException {
        Attributes a;
        try {
            a = Attributes.of(file, true);
        } catch (NoSuchFileException e) {
            return false;
        }
        return a.kind == Kind.REGULAR && Objects.equals(a.owner, CurrentUser.of(file.getFileSystem()));
    }

    enum Kind { REGULAR, DIRECTORY, SYMBOLIC_LINK, OTHER }

    /**
     * What {@code lstat} says about a file itself, never about what a link points to. owner is the
     * uid (an Integer) where the file system has the "unix" view, a {@link UserPrincipal} elsewhere
     * (Windows), and null there when it was not asked for.
     */
    static final class Attributes {
        final Kind kind;
        final long size;
        final FileTime modified;
        final Object owner;
        private final Object fileKey;
        private final FileTime created;
        /** POSIX permission bits, or -1 where there are none (Windows). */
        private final int mode;

        private Attributes(BasicFileAttributes basic, Object owner, int mode) {
            this.kind = basic.isSymbolicLink() ? Kind.SYMBOLIC_LINK : basic.isDirectory() ? Kind.DIRECTORY
                    : basic.isRegularFile() ? Kind.REGULAR : Kind.OTHER;
            this.size = basic.size();
            this.fileKey = basic.fileKey();
            this.created = basic.creationTime();
            this.modified = basic.lastModifiedTime();
            this.owner = owner;
            this.mode = mode;
        }

        static Attributes of(Path file, boolean withOwner) throws IOException {
            BasicFileAttributes basic = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (hasUnixView(file.getFileSystem())) {
                // The numeric uid rather than the owner's name: no name service lookup per file, and
                // the message can name a uid that has no name.
                Map<String, Object> unix = Files.readAttributes(file, "unix:uid,mode", LinkOption.NOFOLLOW_LINKS);
                return new Attributes(basic, unix.get("uid"), (Integer) unix.get("mode") & 07777);
            }
            UserPrincipal owner = null;
            if (withOwner) {
                try {
                    owner = Files.getOwner(file, LinkOption.NOFOLLOW_LINKS);
                } catch (UnsupportedOperationException e) {
                    throw new IOException("crash report " + file + ": its file system cannot tell who owns it", e);
                }
            }
            return new Attributes(basic, owner, -1);
        }

        /** Throws a {@link RefusedException} that says why when this is not a file to read. */
        void check(Path file, boolean ownOnly) throws IOException {
            switch (kind) {
                case SYMBOLIC_LINK -> throw new RefusedException(file, "a symbolic link",
                        "is a symbolic link; report files are read only as themselves, never through a link");
                case DIRECTORY -> throw new RefusedException(file, "not a regular file", "is a directory, not a report file");
                case OTHER -> throw new RefusedException(file, "not a regular file",
                        "is not a regular file (a FIFO, device or socket)");
                case REGULAR -> { }
            }
            if (ownOnly) {
                Object me = CurrentUser.of(file.getFileSystem());
                if (!Objects.equals(owner, me)) {
                    throw new RefusedException(file, "owned by another user",
                            "is owned by " + describe(owner) + ", not by you (" + describe(me) + ")");
                }
                if (mode >= 0 && (mode & 0022) != 0) {
                    throw new RefusedException(file, "group- or world-writable", "is group- or world-writable (mode "
                            + String.format("%04o", mode) + "), so someone else may have written it");
                }
            }
            if (size > CrashReport.MAX_FILE_SIZE) {
                throw tooLarge(file, size);
            }
            if (size == 0) {
                throw new RefusedException(file, "empty", "is empty");
            }
        }

        boolean sameFile(Attributes other) {
            if (fileKey != null) {
                return fileKey.equals(other.fileKey);
            }
            // No file key (Windows): the same creation time, modification time and size.
            return created.equals(other.created) && modified.equals(other.modified) && size == other.size;
        }

        static String describe(Object owner) {
            return owner instanceof Integer uid ? "uid " + uid
                    : owner instanceof UserPrincipal user ? user.getName() : String.valueOf(owner);
        }
    }

    static boolean hasUnixView(FileSystem fs) {
        return fs.supportedFileAttributeViews().contains("unix");
    }

    /**
     * Who "you" are: the owner that files created by this process get, as the agent's reports do.
     * On Linux the file-system uid in /proc/self/status. Elsewhere Java has no call for it, so the
     * owner of a temporary file made for the purpose. On Windows that also covers an elevated
     * administrator, whose new files may belong to the Administrators group rather than to the
     * user, depending on the system's policy: the probe gets whichever the agent's reports get.
     */
    static final class CurrentUser {
        private static volatile Object ofDefaultFileSystem;

        private CurrentUser() {}

        /** A uid (Integer) where fs has the "unix" view, a {@link UserPrincipal} elsewhere. */
        static Object of(FileSystem fs) throws IOException {
            if (fs != FileSystems.getDefault()) {
                return find(fs);
            }
            Object me = ofDefaultFileSystem;
            if (me == null) {
                me = find(fs);
                ofDefaultFileSystem = me;
            }
            return me;
        }

        private static Object find(FileSystem fs) throws IOException {
            boolean unix = hasUnixView(fs);
            if (unix) {
                Path status = fs.getPath("/proc/self/status");
                if (Files.isRegularFile(status)) {
                    for (String line : Files.readAllLines(status)) {
                        String[] ids = line.startsWith("Uid:") ? line.substring(4).trim().split("\\s+") : new String[0];
                        if (ids.length == 4) {
                            return Integer.valueOf(ids[3]);  // real, effective, saved, file-system uid
                        }
                    }
                }
            }
            IOException failure;
            try {
                Path probe = Files.createTempFile("crashagent-owner", ".tmp");
                try {
                    return unix ? Files.getAttribute(probe, "unix:uid", LinkOption.NOFOLLOW_LINKS)
                            : Files.getOwner(probe, LinkOption.NOFOLLOW_LINKS);
                } finally {
                    Files.deleteIfExists(probe);
                }
            } catch (IOException e) {
                failure = e;
            }
            if (!unix) {
                try {
                    return fs.getUserPrincipalLookupService().lookupPrincipalByName(System.getProperty("user.name"));
                } catch (IOException | UnsupportedOperationException e) {
                    failure.addSuppressed(e);
                }
            }
            throw new IOException("cannot tell which user this process runs as, so not which report files are its own: "
                    + failure.getMessage(), failure);
        }
    }
}
