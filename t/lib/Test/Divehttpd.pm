package Test::Divehttpd;

# Test harness for divehttpd: starts the built binary in a temporary prefix
# with a configuration written by the test, on free loopback ports, talks to
# it over real sockets, stops it, and checks the error log for alerts and
# sanitizer reports.
#
# Environment:
#   TEST_DIVEHTTPD_BINARY   the binary (default ../objs/divehttpd from t/)
#   TEST_DIVEHTTPD_LEAVE    keep the temporary directory
#   TEST_DIVEHTTPD_VERBOSE  print requests and responses (prove -v)
#   TEST_DIVEHTTPD_CATLOG   print error.log when the file ends
#   TEST_DIVEHTTPD_GLOBALS  extra main-level directives for %%TEST_GLOBALS%%
#   TEST_DIVEHTTPD_GLOBALS_HTTP  extra http-level directives

use strict;
use warnings;

use Exporter qw/import/;
use Cwd qw/abs_path/;
use Errno qw/EINTR EAGAIN ECONNREFUSED ECONNRESET EPIPE/;
use File::Basename qw/dirname/;
use File::Spec;
use File::Temp qw/tempdir/;
use IO::Select;
use IO::Socket::INET;
use POSIX qw/:sys_wait_h/;
use Scalar::Util qw/weaken refaddr/;
use Test::More ();
use Time::HiRes qw/sleep time/;

our @EXPORT = qw/http http_get http_head http_start http_end http_content
    http_keepalive read_response parse_response run_divehttpd_cmd port
    wait_until/;

our $VERSION = '0.1';
our $TODO;

my $T_DIR = dirname(abs_path(dirname(__FILE__) . '/..'));   # .../t
my %PORTS;          # 8NNN => real port, stable within one test file
my %USED_PORTS;
my @INSTANCES;
my $CURRENT;        # last harness created, for the exported helpers

###############################################################################
# construction, feature checks, planning

sub new {
    my ($class) = @_;
    my $self = bless {}, $class;

    $self->{_binary} = $ENV{TEST_DIVEHTTPD_BINARY}
        || "$T_DIR/../objs/divehttpd";
    $self->{_binary} = File::Spec->rel2abs($self->{_binary});

    $self->{_testdir} = tempdir('divehttpd-test-XXXXXXXXXX', TMPDIR => 1,
        CLEANUP => $ENV{TEST_DIVEHTTPD_LEAVE} ? 0 : 1);
    # default relative paths (logs/error.log) resolve inside the prefix
    mkdir "$self->{_testdir}/logs";
    $self->{_pid_owner} = $$;
    $self->{_expected_alerts} = [];
    $self->{_expected_emergs} = [];
    $self->{_daemons} = [];

    Test::More::BAIL_OUT("no divehttpd binary found at $self->{_binary}"
        . " (build with ./configure && make, or set TEST_DIVEHTTPD_BINARY)")
        unless -x $self->{_binary};

    # a test killed by prove or ^C still stops its server (END runs on
    # die); writes to a socket the server closed give EPIPE, not death
    for my $sig (qw/INT TERM HUP/) {
        $SIG{$sig} = sub { die "killed by SIG$sig\n" }
            if !defined $SIG{$sig} || $SIG{$sig} eq 'DEFAULT'
                || $SIG{$sig} eq '';
    }
    $SIG{PIPE} = 'IGNORE';

    push @INSTANCES, $self;
    weaken($INSTANCES[-1]);
    $CURRENT = $self;
    weaken($CURRENT);

    return $self;
}

sub testdir { $_[0]->{_testdir} }
sub binary { $_[0]->{_binary} }

# Output of -V, cached per binary.
my %V_CACHE;

sub version_info {
    my ($self) = @_;
    my $bin = $self->{_binary};
    unless (defined $V_CACHE{$bin}) {
        my (undef, $out, $err) = $self->run_divehttpd_cmd('-V');
        $V_CACHE{$bin} = ($out // '') . ($err // '');
    }
    return $V_CACHE{$bin};
}

sub has_module {
    my ($self, $name) = @_;
    my $v = $self->version_info();

    my ($args) = $v =~ /^configure arguments:(.*)$/m;
    $args //= '';
    return 0 if $args =~ /--without-(?:dh_)?\Q$name\E(?:_module)?(?![\w-])/;

    my ($mods) = $v =~ /^(?:built |compiled-in )?modules:(.*)$/mi;
    return 1 unless defined $mods;      # nothing listed: trust configure args

    my %have = map { $_ => 1 } split /[\s,]+/, $mods;
    return 1 if $have{$name} || $have{"dh_${name}_module"}
        || $have{"${name}_module"};
    return 0;
}

sub has {
    my ($self, @names) = @_;
    for my $name (@names) {
        next if $self->has_module($name);
        Test::More::plan(skip_all => "no $name available");
    }
    return $self;
}

sub plan {
    my ($self, $n) = @_;
    Test::More::plan(tests => $n + 2);
    $self->{_planned} = 1;
    return $self;
}

# Alerts or emergencies this test provokes on purpose.  Each takes regexes
# matched against the log line; with no argument every such line is allowed.
sub expect_alert {
    my ($self, @re) = @_;
    push @{$self->{_expected_alerts}}, @re ? @re : qr/./;
    return $self;
}

sub expect_emerg {
    my ($self, @re) = @_;
    push @{$self->{_expected_emergs}}, @re ? @re : qr/./;
    return $self;
}

sub todo_alerts {
    my ($self) = @_;
    $self->{_todo_alerts} = 1;
    return $self;
}

###############################################################################
# files

sub write_file {
    my ($self, $name, $content) = @_;
    my $path = "$self->{_testdir}/$name";
    my $dir = dirname($path);
    _mkpath($dir) unless -d $dir;
    open my $fh, '>', $path or die "Can't create $path: $!";
    binmode $fh;
    print $fh $content;
    close $fh or die "Can't write $path: $!";
    return $self;
}

sub _mkpath {
    my ($dir) = @_;
    my $acc = '';
    for my $part (split m{/}, $dir) {
        $acc .= $part . '/';
        next if -d $acc;
        mkdir $acc or die "Can't mkdir $acc: $!";
    }
}

sub expand {
    my ($self, $content) = @_;
    my $d = $self->{_testdir};

    my $level = $self->{_log_level} || 'debug';
    my $globals = "pid $d/divehttpd.pid;\nerror_log $d/error.log $level;\n";
    $globals .= "user root;\n" if $> == 0;
    $globals .= $ENV{TEST_DIVEHTTPD_GLOBALS} . "\n"
        if $ENV{TEST_DIVEHTTPD_GLOBALS};

    my $globals_http = "root $d;\n";
    $globals_http .= $ENV{TEST_DIVEHTTPD_GLOBALS_HTTP} . "\n"
        if $ENV{TEST_DIVEHTTPD_GLOBALS_HTTP};

    $content =~ s/%%TEST_GLOBALS%%/$globals/g;
    $content =~ s/%%TEST_GLOBALS_HTTP%%/$globals_http/g;
    $content =~ s/%%TESTDIR%%/$d/g;
    $content =~ s/%%PORT_(\d+)%%/port($1)/ge;
    $content =~ s/127\.0\.0\.1:(8\d\d\d)(?!\d)/'127.0.0.1:' . port($1)/ge;

    return $content;
}

# The error_log level %%TEST_GLOBALS%% uses (debug unless set); load tests
# use notice so a debug build does not write a huge log.
sub log_level {
    my ($self, $level) = @_;
    $self->{_log_level} = $level;
    return $self;
}

sub write_file_expand {
    my ($self, $name, $content) = @_;
    return $self->write_file($name, $self->expand($content));
}

sub read_file {
    my ($self, $name) = @_;
    my $path = $name =~ m{^/} ? $name : "$self->{_testdir}/$name";
    open my $fh, '<', $path or return undef;
    binmode $fh;
    local $/;
    my $content = <$fh>;
    close $fh;
    return $content // '';
}

###############################################################################
# ports

# Stable per test file: port(8080) always gives the same free port.
#
# Ports come from below the kernel's ephemeral range when there is room:
# a port inside it can be taken as the source port of one of the tests' own
# client connections between two runs of the server in one file.  A
# candidate must be bindable; if none is found, port 0 picks one.
sub port {
    my ($num) = @_;
    $num = $_[1] if ref $num;       # called as a method
    return $PORTS{$num} if $PORTS{$num};

    my ($low) = (_read_sysctl('/proc/sys/net/ipv4/ip_local_port_range')
        // '') =~ /^(\d+)/;
    $low ||= 32768;

    my @candidates;
    push @candidates, map { 10000 + int(rand($low - 10000)) } 1 .. 100
        if $low > 11000;
    push @candidates, (0) x 20;

    for my $want (@candidates) {
        next if $want && $USED_PORTS{$want};
        my $s = IO::Socket::INET->new(
            Proto => 'tcp',
            LocalAddr => '127.0.0.1',
            LocalPort => $want,
            Listen => 1,
            ReuseAddr => 1,
        ) or next;
        my $p = $s->sockport();
        close $s;
        next if $USED_PORTS{$p};
        $USED_PORTS{$p} = 1;
        return $PORTS{$num} = $p;
    }
    die "Can't find a free port for $num\n";
}

sub _read_sysctl {
    my ($file) = @_;
    open my $fh, '<', $file or return undef;
    my $v = <$fh>;
    close $fh;
    return $v;
}

###############################################################################
# environment for the server and for commands

sub _sanitizer_env {
    my ($self) = @_;
    my $d = $self->{_testdir};
    my $asan = "log_path=$d/asan:detect_leaks=0:abort_on_error=0";
    my $ubsan = "log_path=$d/ubsan:print_stacktrace=1";
    $asan = "$asan:$ENV{ASAN_OPTIONS}" if $ENV{ASAN_OPTIONS};
    $ubsan = "$ubsan:$ENV{UBSAN_OPTIONS}" if $ENV{UBSAN_OPTIONS};
    return (ASAN_OPTIONS => $asan, UBSAN_OPTIONS => $ubsan);
}

###############################################################################
# running the server

sub pid_file { "$_[0]->{_testdir}/divehttpd.pid" }

sub _read_pid_file {
    my ($self) = @_;
    my $c = $self->read_file($self->pid_file());
    return undef unless defined $c && $c =~ /^(\d+)\s*$/;
    return $1;
}

# Start the server.  Options: daemon => 1 (the conf does not say
# "daemon off;", so the first process exits and the pid file names the
# detached master); args => [...] (extra command line arguments);
# conf => 'name' (default divehttpd.conf).
sub run {
    my ($self, %opts) = @_;
    my $d = $self->{_testdir};
    my $conf = $opts{conf} || 'divehttpd.conf';

    unlink $self->pid_file();
    $self->{_daemon} = $opts{daemon} ? 1 : 0;

    my @cmd = ($self->{_binary}, '-p', "$d/", '-c', $conf,
        '-e', "$d/error.log", @{$opts{args} || []});
    my %env = $self->_sanitizer_env();

    my $pid = fork();
    die "Can't fork: $!" unless defined $pid;

    if ($pid == 0) {
        @ENV{keys %env} = values %env;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$d/stdout";
        open STDERR, '>>', "$d/stderr";
        exec { $cmd[0] } @cmd
            or print STDERR "Can't exec $cmd[0]: $!\n";
        POSIX::_exit(127);
    }

    $self->{_child} = $pid;
    $self->{_started} = $pid;
    $self->{_started_status} = undef;
    $self->{_master} = undef;

    my $deadline = time() + 10;
    my $exited;
    while (time() < $deadline) {
        if (!$exited && waitpid($pid, WNOHANG) == $pid) {
            $exited = $?;
            $self->{_started_status} = $?;
            $self->{_child} = undef;
            last unless $self->{_daemon} && $exited == 0;
        }
        my $mpid = $self->_read_pid_file();
        if ($mpid && kill(0, $mpid)) {
            $self->{_master} = $mpid;
            last;
        }
        sleep 0.02;
    }

    unless ($self->{_master}) {
        my $why = defined $exited
            ? "exited with status " . ($exited >> 8)
                . ($exited & 127 ? " (signal " . ($exited & 127) . ")" : '')
            : "no pid file within 10 seconds";
        my $err = $self->read_file('stderr') // '';
        $self->{_run_error} = "divehttpd did not start: $why\n$err";
        if ($self->{_child}) {
            kill 'KILL', $self->{_child};
            waitpid($self->{_child}, 0);
            $self->{_child} = undef;
        }
        die "$self->{_run_error}\n" unless $opts{try};
        return undef;
    }

    $self->{_running} = 1;
    return $self;
}

sub try_run {
    my ($self, $message, %opts) = @_;
    unless ($self->run(%opts, try => 1)) {
        Test::More::diag($self->{_run_error}) if $ENV{TEST_DIVEHTTPD_VERBOSE};
        Test::More::plan(skip_all => $message);
    }
    return $self;
}

# The pid run() forked (with daemon => 1 not the master) and, once it has
# exited, its wait status.
sub started_pid { $_[0]->{_started} }
sub started_status { $_[0]->{_started_status} }

sub master_pid {
    my ($self) = @_;
    return $self->{_master};
}

# Live (non-zombie) children of the master that are workers.
sub worker_pids {
    my ($self) = @_;
    my $master = $self->{_master} or return ();
    my @pids;
    opendir my $dh, '/proc' or return ();
    for my $pid (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my $stat = <$fh>;
        close $fh;
        next unless defined $stat;
        # pid (comm) state ppid ...; comm may hold spaces and parens
        my ($state, $ppid) = $stat =~ /\)\s+(\S)\s+(\d+)/ or next;
        next unless $ppid == $master;
        next if $state eq 'Z' || $state eq 'X';
        my $cmdline = '';
        if (open my $ch, '<', "/proc/$pid/cmdline") {
            local $/;
            $cmdline = <$ch> // '';
            close $ch;
        }
        # setproctitle names helpers "... helper process" etc.
        next if $cmdline =~ /process/ && $cmdline !~ /worker/;
        push @pids, $pid;
    }
    closedir $dh;
    @pids = sort { $a <=> $b } @pids;
    return @pids;       # in scalar context: how many
}

# True while $pid runs (a zombie counts as gone; our own child is reaped).
sub alive {
    my ($self, $pid) = @_;
    return 0 unless $pid;
    if ($self->{_child} && $pid == $self->{_child}) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) {
            $self->{_exit_status} = $?;
            $self->{_started_status} = $?
                if $self->{_started} && $pid == $self->{_started};
            $self->{_child} = undef;
            return 0;
        }
        return 1 if $r == 0;
    }
    return 0 unless kill(0, $pid);
    # a zombie we cannot reap counts as gone
    if (open my $fh, '<', "/proc/$pid/stat") {
        my $stat = <$fh> // '';
        close $fh;
        return 0 if $stat =~ /\)\s+[ZX]\s/;
    }
    return 1;
}

sub _wait_gone {
    my ($self, $pid, $timeout) = @_;
    my $deadline = time() + $timeout;
    while (time() < $deadline) {
        return 1 unless $self->alive($pid);
        sleep 0.02;
    }
    return !$self->alive($pid);
}

sub signal {
    my ($self, $sig) = @_;
    my $pid = $self->{_master} or return 0;
    return kill $sig, $pid;
}

# Graceful stop: QUIT, then TERM, then KILL.  Returns the master's exit
# status when it was our child, or 0.
sub stop {
    my ($self) = @_;
    return $self unless $self->{_running};
    my $pid = $self->{_master};
    my @workers = $self->worker_pids();

    kill 'QUIT', $pid;
    unless ($self->_wait_gone($pid, 30)) {
        Test::More::diag("divehttpd $pid ignored QUIT for 30 s, sending TERM");
        $self->{_stop_forced} = 1;
        kill 'TERM', $pid;
        unless ($self->_wait_gone($pid, 10)) {
            Test::More::diag("divehttpd $pid ignored TERM, sending KILL");
            kill 'KILL', $pid;
            $self->_wait_gone($pid, 5);
        }
    }
    $self->_reap_leftovers(@workers);
    $self->{_running} = 0;
    return $self;
}

# Fast stop with TERM (used by tests of TERM).
sub stop_fast {
    my ($self, $sig) = @_;
    return $self unless $self->{_running};
    my $pid = $self->{_master};
    my @workers = $self->worker_pids();
    kill($sig || 'TERM', $pid);
    unless ($self->_wait_gone($pid, 30)) {
        $self->{_stop_forced} = 1;
        kill 'KILL', $pid;
        $self->_wait_gone($pid, 5);
    }
    $self->_reap_leftovers(@workers);
    $self->{_running} = 0;
    return $self;
}

# Workers must not outlive the master; if they do, kill them and say so.
sub _reap_leftovers {
    my ($self, @workers) = @_;
    my $deadline = time() + 10;
    my @left;
    while (1) {
        @left = grep { $self->alive($_) && _is_divehttpd($_) } @workers;
        last if !@left || time() > $deadline;
        sleep 0.05;
    }
    if (@left) {
        Test::More::diag("workers left after the master exited: @left");
        $self->{_leftovers} = [@left];
        kill 'KILL', @left;
    }
}

sub _is_divehttpd {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/cmdline" or return 0;
    local $/;
    my $c = <$fh> // '';
    close $fh;
    return $c =~ /divehttpd/;
}

# Wait until the master has exited by itself (after a signal sent by the
# test or "-s quit"); returns true when it did.
sub wait_exit {
    my ($self, $timeout) = @_;
    return 1 unless $self->{_running};
    my @workers = $self->worker_pids();
    return 0 unless $self->_wait_gone($self->{_master}, $timeout || 30);
    $self->_reap_leftovers(@workers);
    $self->{_running} = 0;
    return 1;
}

# Barrier after QUIT (or a reload): wait until each of @$workers has
# begun its graceful exit, seen as the worker no longer holding a
# listening socket (or having exited).  A log line is no barrier here: the
# master logs its own "shutting down" before the workers hear of it.
# Returns true when it saw it.
sub wait_shutdown_begun {
    my ($self, $workers, $timeout) = @_;
    return wait_until(sub {
        for my $w (@$workers) {
            next unless $self->alive($w);
            return 0 if $self->listen_ports($w);
        }
        return 1;
    }, $timeout || 10);
}

# TCP ports the process listens on (from /proc), sorted.
sub listen_ports {
    my ($self, $pid) = @_;
    $pid ||= $self->{_master} or return ();
    my %inodes;
    opendir my $dh, "/proc/$pid/fd" or return ();
    for my $fd (readdir $dh) {
        my $l = readlink "/proc/$pid/fd/$fd" or next;
        $inodes{$1} = 1 if $l =~ /^socket:\[(\d+)\]$/;
    }
    closedir $dh;
    my %ports;
    for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $fh, '<', $f or next;
        <$fh>;
        while (<$fh>) {
            my @c = split;
            next unless @c > 9 && $c[3] eq '0A';
            next unless $inodes{$c[9]};
            my ($port) = $c[1] =~ /:([0-9A-F]+)$/;
            $ports{hex $port} = 1;
        }
        close $fh;
    }
    my @ports = sort { $a <=> $b } keys %ports;
    return @ports;
}

sub running { $_[0]->{_running} && $_[0]->alive($_[0]->{_master}) }

sub exit_status { $_[0]->{_exit_status} }

# How many times $re matches error.log.
sub count_log {
    my ($self, $re) = @_;
    my $log = $self->read_file('error.log') // '';
    my $n = () = $log =~ /$re/g;
    return $n;
}

# Reload and wait until it is done: new workers are running, and (unless
# wait_old => 0) the old workers have exited.  With fail => 1 the new conf
# is expected to be rejected: wait for a new [emerg] line in error.log
# instead (the old workers keep running).
sub reload {
    my ($self, %opts) = @_;
    my $timeout = $opts{timeout} || 30;
    my @old = $self->worker_pids();
    my $emergs = $self->count_log(qr/\[emerg\]/);

    $self->signal('HUP') or return 0;

    if ($opts{fail}) {
        return wait_until(sub {
            $self->count_log(qr/\[emerg\]/) > $emergs
        }, $timeout);
    }

    return $self->wait_reloaded(\@old, %opts, emergs => $emergs);
}

# The reload barrier after a HUP sent some other way ("-s reload"): $old
# is the list of worker pids from before.  Waits for at least as many new
# workers (or workers => N) and, unless wait_old => 0, for the old ones to
# exit.
sub wait_reloaded {
    my ($self, $old, %opts) = @_;
    my $timeout = $opts{timeout} || 30;
    my @old = @$old;
    my %old = map { $_ => 1 } @old;
    my $want = $opts{workers} || scalar(@old) || 1;

    my $failed = 0;

    my $done = wait_until(sub {
        # a rejected conf: stop waiting, the old workers stay
        if (defined $opts{emergs}
            && $self->count_log(qr/\[emerg\]/) > $opts{emergs})
        {
            $failed = 1;
            return 1;
        }
        my @now = $self->worker_pids();
        my @new = grep { !$old{$_} } @now;
        return 0 if @new < $want;
        return 1 if defined $opts{wait_old} && !$opts{wait_old};
        return !grep { $self->alive($_) } @old;
    }, $timeout);

    return $done && !$failed;
}

# Poll a condition until true or timeout; returns the last value.
sub wait_until {
    my ($cond, $timeout, $step) = @_;
    $timeout ||= 10;
    $step ||= 0.02;
    my $deadline = time() + $timeout;
    while (1) {
        my $r = $cond->();
        return $r if $r;
        return $r if time() > $deadline;
        sleep $step;
    }
}

sub waitforfile {
    my ($self, $file, $timeout) = @_;
    return wait_until(sub { -e $file }, $timeout || 10);
}

sub waitforsocket {
    my ($self, $peer, $timeout) = @_;
    return wait_until(sub {
        my $s = IO::Socket::INET->new(Proto => 'tcp', PeerAddr => $peer);
        return 0 unless $s;
        close $s;
        return 1;
    }, $timeout || 10, 0.05);
}

# Fork a Perl backend: $code->(@args) runs in the child, which exits
# without running END blocks.
sub run_daemon {
    my ($self, $code, @args) = @_;
    my $pid = fork();
    die "Can't fork: $!" unless defined $pid;
    if ($pid == 0) {
        @INSTANCES = ();
        $SIG{$_} = 'DEFAULT' for qw/INT TERM HUP/;
        eval { $code->(@args) };
        print STDERR "daemon died: $@" if $@;
        POSIX::_exit(0);
    }
    push @{$self->{_daemons}}, $pid;
    return $self;
}

# Register a process the test forked itself, so that it is stopped with
# the daemons if the test ends early.
sub add_daemon {
    my ($self, $pid) = @_;
    push @{$self->{_daemons}}, $pid;
    return $self;
}

sub stop_daemons {
    my ($self) = @_;
    for my $pid (@{$self->{_daemons}}) {
        next if waitpid($pid, WNOHANG) != 0;    # already reaped or gone
        kill 'TERM', $pid;
        my $deadline = time() + 5;
        while (time() < $deadline) {
            last if waitpid($pid, WNOHANG) != 0;
            sleep 0.02;
        }
        if (waitpid($pid, WNOHANG) == 0) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
        }
    }
    $self->{_daemons} = [];
    return $self;
}

###############################################################################
# commands

# Run the binary with @args; returns (exit status, stdout, stderr).  The
# status is the exit code, or 128+signal when it died of a signal, or -1
# when it ran longer than 30 s.  Callable as a function or a method.
sub run_divehttpd_cmd {
    my $self = ref $_[0] ? shift : $CURRENT;
    my (@args) = @_;
    die "run_divehttpd_cmd needs a Test::Divehttpd object\n" unless $self;

    my $d = $self->{_testdir};
    my $n = ++$self->{_cmd_n};
    my ($out, $err) = ("$d/cmd$n.out", "$d/cmd$n.err");
    my %env = $self->_sanitizer_env();

    my $pid = fork();
    die "Can't fork: $!" unless defined $pid;
    if ($pid == 0) {
        @ENV{keys %env} = values %env;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>', $err;
        exec { $self->{_binary} } $self->{_binary}, @args
            or print STDERR "Can't exec $self->{_binary}: $!\n";
        POSIX::_exit(127);
    }

    my $status;
    my $deadline = time() + 30;
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) {
            $status = $? & 127 ? 128 + ($? & 127) : $? >> 8;
            last;
        }
        if (time() > $deadline) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            $status = -1;
            last;
        }
        sleep 0.01;
    }

    my ($o, $e) = ($self->read_file($out) // '', $self->read_file($err) // '');
    unlink $out, $err;
    if ($ENV{TEST_DIVEHTTPD_VERBOSE}) {
        Test::More::diag("\$ divehttpd @args => $status");
        Test::More::diag("stdout: $o") if length $o;
        Test::More::diag("stderr: $e") if length $e;
    }
    return ($status, $o, $e);
}

# The usual "-p <tmp>/ -c divehttpd.conf -e <tmp>/cmd-error.log" plus
# @args.  The error log of commands is kept apart from error.log so that a
# deliberately failing -t does not count as an alert of the server.
sub cmd {
    my ($self, @args) = @_;
    my $d = $self->{_testdir};
    return $self->run_divehttpd_cmd('-p', "$d/", '-c', 'divehttpd.conf',
        '-e', "$d/cmd-error.log", @args);
}

###############################################################################
# the final checks

sub _finish {
    my ($self) = @_;
    return if $self->{_finished};
    return unless $self->{_pid_owner} && $self->{_pid_owner} == $$;
    $self->{_finished} = 1;
    local $?;
    local $@;

    $self->stop() if $self->{_running};
    $self->stop_daemons();

    my $tb = Test::More->builder;

    if ($self->{_planned} && $tb->expected_tests) {
        my $log = $self->read_file('error.log') // '';
        my @bad;
        for my $line (split /\n/, $log) {
            if ($line =~ /\[alert\]/) {
                next if grep { $line =~ $_ } @{$self->{_expected_alerts}};
                push @bad, $line;
            } elsif ($line =~ /\[emerg\]/) {
                next if grep { $line =~ $_ } @{$self->{_expected_emergs}};
                push @bad, $line;
            }
        }
        TODO: {
            local $Test::Divehttpd::TODO = 'alerts'
                if $self->{_todo_alerts};
            Test::More::is(join("\n", @bad), '', 'no alerts');
        }

        my @san;
        opendir my $dh, $self->{_testdir};
        for my $f (sort grep { /^(asan|ubsan)\./ } readdir $dh) {
            my $c = $self->read_file($f) // '';
            push @san, "$f: " . substr($c, 0, 2000);
        }
        closedir $dh;
        for my $f (qw/error.log stderr/) {
            my $c = $self->read_file($f) // '';
            push @san, grep { /Sanitizer|runtime error:/ } split /\n/, $c;
        }
        Test::More::is(join("\n", @san), '', 'no sanitizer errors');
    }

    if ($ENV{TEST_DIVEHTTPD_CATLOG}
        || ($self->{_planned} && !$tb->is_passing))
    {
        my $log = $self->read_file('error.log') // '';
        my @lines = split /\n/, $log;
        unless ($ENV{TEST_DIVEHTTPD_CATLOG}) {
            # on failure: the last non-debug lines are what helps
            @lines = grep { m!^\d{4}/\d\d/\d\d ! && !/\[debug\]/ }
                @lines;
            @lines = @lines[-60 .. -1] if @lines > 60;
        }
        Test::More::diag("error.log:\n" . join("\n", @lines)) if @lines;
        my $err = $self->read_file('stderr') // '';
        Test::More::diag("stderr:\n$err") if length $err;
    }
}

sub DESTROY {
    my ($self) = @_;
    $self->_finish();
}

END {
    for my $t (@INSTANCES) {
        $t->_finish() if $t;
    }
}

###############################################################################
# client helpers

sub _log_out {
    return unless $ENV{TEST_DIVEHTTPD_VERBOSE};
    my ($msg) = @_;
    Test::More::diag(_escape('>> ', $msg));
}

sub _log_in {
    return unless $ENV{TEST_DIVEHTTPD_VERBOSE};
    my ($msg) = @_;
    Test::More::diag(_escape('<< ', $msg));
}

sub _escape {
    my ($prefix, $msg) = @_;
    $msg //= '(undef)';
    $msg =~ s/([^\x20-\x7e\n])/sprintf('\\x%02x', ord($1))/ge;
    $msg =~ s/^/$prefix/gm;
    return $msg;
}

sub _peer {
    my (%extra) = @_;
    return $extra{PeerAddr} if $extra{PeerAddr};
    return '127.0.0.1:' . port($extra{port} || 8080);
}

# Connect, send $request (and then body after an optional sleep).
# Returns the socket, or undef when connecting or sending failed.
sub http_start {
    my ($request, %extra) = @_;
    my $s;
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        local $SIG{PIPE} = sub { die "sigpipe\n" };
        alarm(8);
        $s = $extra{socket} || IO::Socket::INET->new(
            Proto => 'tcp',
            PeerAddr => _peer(%extra),
        ) or die "Can't connect to " . _peer(%extra) . ": $!\n";
        $s->autoflush(1);
        _log_out($request);
        $s->syswrite($request) if length $request;
        if (defined $extra{body}) {
            sleep($extra{sleep}) if $extra{sleep};
            _log_out($extra{body});
            $s->syswrite($extra{body});
        }
        alarm(0);
    };
    alarm(0);
    if ($@) {
        _log_in("died: $@");
        return undef;
    }
    return $s;
}

# Read everything until the server closes; returns what was read, or
# undef on a timeout (8 s) with nothing read.
sub http_end {
    my ($s, %extra) = @_;
    return undef unless $s;
    my $reply = '';
    my $timedout;
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        local $SIG{PIPE} = sub { die "sigpipe\n" };
        alarm($extra{timeout} || 8);
        while (1) {
            my $n = $s->sysread(my $buf, 65536);
            last unless $n;     # EOF or error (a reset ends it too)
            $reply .= $buf;
        }
        alarm(0);
    };
    alarm(0);
    if ($@) {
        _log_in("died: $@");
        $timedout = 1;
    }
    $s->close();
    _log_in($reply);
    return undef if $timedout && $reply eq '';
    return $reply;
}

sub http {
    my ($request, %extra) = @_;
    my $s = http_start($request, %extra) or return undef;
    return $s if $extra{start};
    return http_end($s, %extra);
}

sub http_get {
    my ($url, %extra) = @_;
    return http("GET $url HTTP/1.0\r\nHost: localhost\r\n\r\n", %extra);
}

sub http_head {
    my ($url, %extra) = @_;
    return http("HEAD $url HTTP/1.0\r\nHost: localhost\r\n\r\n", %extra);
}

# Body of a raw response: headers stripped, chunked encoding undone.
sub http_content {
    my ($text) = @_;
    return undef unless defined $text;
    my ($head, $body) = split /\r?\n\r?\n/, $text, 2;
    return undef unless defined $body;
    return $body unless $head =~ /^Transfer-Encoding:\s*chunked\s*$/mi;

    my $content = '';
    while ($body =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
        my $len = hex($1);
        last if $len == 0;
        $content .= substr($body, 0, $len, '');
        $body =~ s/^\r\n//;
    }
    return $content;
}

# Parse one raw response: status, headers (lower-case names, last wins),
# body.  Returns a hash ref or undef.
sub parse_response {
    my ($text) = @_;
    return undef unless defined $text;
    my ($head, $body) = split /\r\n\r\n/, $text, 2;
    return undef unless defined $body;
    my ($status_line, @lines) = split /\r\n/, $head;
    my ($code) = ($status_line // '') =~ m{^HTTP/\d\.\d (\d\d\d)} or return undef;
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        $h{lc $k} = $v;
    }
    return { status => $code, status_line => $status_line, headers => \%h,
        body => http_content($text) // '' };
}

# Read exactly one response from a keep-alive socket.  Bytes that belong
# to the next response stay buffered on the socket.  Options: head => 1
# (no body), timeout => seconds (8).  In list context returns
# ($response, $error) with $error one of undef, 'eof', 'reset', 'timeout',
# 'error: ...'; a partial response is returned with an error.
sub read_response {
    my ($s, %opts) = @_;
    my $buf = \${*$s}{divehttpd_buf};
    $$buf //= '';
    my $deadline = time() + ($opts{timeout} || 8);
    my $sel = IO::Select->new($s);
    my $err;

    my $fill = sub {
        # select() interrupted by a signal returns nothing: wait again
        while (1) {
            my $left = $deadline - time();
            if ($left <= 0) {
                $err = 'timeout';
                return 0;
            }
            last if $sel->can_read($left);
        }
        my $n = sysread($s, my $chunk, 65536);
        if (!defined $n) {
            return 1 if $! == EINTR || $! == EAGAIN;
            $err = $! == ECONNRESET ? 'reset' : "error: $!";
            return 0;
        }
        if ($n == 0) {
            $err = 'eof';
            return 0;
        }
        $$buf .= $chunk;
        return 1;
    };

    my $hend;
    until (($hend = index($$buf, "\r\n\r\n")) >= 0) {
        unless ($fill->()) {
            my $partial = $$buf;
            $$buf = '';
            return wantarray ? ($partial eq '' ? undef : $partial, $err)
                : undef;
        }
    }

    my $head = substr($$buf, 0, $hend + 4);
    my ($code) = $head =~ m{^HTTP/\d\.\d (\d\d\d)};
    $code //= 0;
    my $pos = $hend + 4;
    my $end;

    if ($opts{head} || $code =~ /^1/ || $code == 204 || $code == 304) {
        $end = $pos;
    } elsif ($head =~ /^Transfer-Encoding:\s*chunked\s*\r$/mi) {
        # walk the chunks; refill whenever a piece is missing
        my $p = $pos;
        while (1) {
            my $le = index($$buf, "\r\n", $p);
            if ($le < 0) { $fill->() or last; next; }
            my ($hex) = substr($$buf, $p, $le - $p) =~ /^([0-9a-fA-F]+)/;
            if (!defined $hex) { $err = 'bad chunk'; last; }
            my $len = hex $hex;
            if ($len == 0) {
                # trailers end with an empty line
                my $te = index($$buf, "\r\n\r\n", $le);
                my $te2 = substr($$buf, $le, 4) eq "\r\n\r\n" ? $le : $te;
                if ($te2 < 0) { $fill->() or last; next; }
                $end = $te2 + 4;
                last;
            }
            my $need = $le + 2 + $len + 2;
            if (length($$buf) < $need) { $fill->() or last; next; }
            $p = $need;
        }
    } elsif ($head =~ /^Content-Length:\s*(\d+)\s*\r$/mi) {
        my $need = $pos + $1;
        while (length($$buf) < $need) { $fill->() or last; }
        $end = $need if length($$buf) >= $need;
    } else {
        # delimited by close
        while ($fill->()) { }
        $end = length $$buf if $err && $err eq 'eof';
        $err = undef if defined $end;
    }

    if (!defined $end) {
        my $partial = $$buf;
        $$buf = '';
        _log_in($partial);
        return wantarray ? ($partial, $err || 'incomplete') : undef;
    }

    my $resp = substr($$buf, 0, $end, '');
    _log_in($resp);
    return wantarray ? ($resp, undef) : $resp;
}

# Several requests on one connection.  $requests is an array ref of raw
# requests.  Options: pipeline => 1 (send all first), socket => $s, and
# the http_start() options.  Returns the list of responses (undef where
# none came); the socket is closed unless keep => 1, in which case it is
# returned as the last element.
sub http_keepalive {
    my ($requests, %extra) = @_;
    my $s = $extra{socket} || http_start('', %extra) or return ();
    my @resp;
    local $SIG{PIPE} = 'IGNORE';

    if ($extra{pipeline}) {
        my $all = join '', @$requests;
        _log_out($all);
        $s->syswrite($all);
        for my $r (@$requests) {
            my ($resp) = read_response($s,
                head => ($r =~ /^HEAD / ? 1 : 0));
            push @resp, $resp;
            last unless defined $resp;
        }
    } else {
        for my $r (@$requests) {
            _log_out($r);
            unless (defined $s->syswrite($r)) {
                push @resp, undef;
                last;
            }
            my ($resp) = read_response($s,
                head => ($r =~ /^HEAD / ? 1 : 0));
            push @resp, $resp;
            last unless defined $resp;
        }
    }

    push @resp, undef while @resp < @$requests;
    if ($extra{keep}) {
        return (@resp, $s);
    }
    $s->close();
    return @resp;
}

1;
