package Test::Divehttpd::Backend;

# HTTP/1.1 backends for the proxy tests, written in Perl.
#
#   my $port = backend($t, id => 'a', port => port(8081),
#                      [tls => {cert => F, key => F}], [dir => $t->testdir]);
#
# starts a daemon (Test::Divehttpd::run_daemon) listening on 127.0.0.1:port
# before it returns.  Each accepted connection is served by its own
# process, with keep-alive, until the client closes.  What it answers
# depends on the path:
#
#   anything else     200, JSON echo: backend id, connection number (1, 2,
#                     ... in accept order: counts backend connections),
#                     request number on that connection, method, uri,
#                     http version, headers (lower-case names; repeats
#                     joined with ", "), body (Content-Length or chunked),
#                     and over TLS the SNI name the client sent
#   /status/NNN       the echo with status NNN
#   /slowhead/S       waits S seconds, then the echo
#   /slowbody/S       head and half the body, S seconds, the rest
#   /closemid         promises 100 bytes, sends 10, closes
#   /badstatus        "HTTP/1.1 abc" then closes
#   /hugeheaders      a 64 KiB response header
#   /chunked          chunked body "hello, world" with a trailer
#   /hop              the echo with hop-by-hop and hidden headers added
#   /big/N[?type=T]   N bytes of 'x' (Content-Length), for back-pressure
#   /sse?wait=FILE    event one; waits for FILE to exist; event two; end
#                     (close-delimited: no length, no chunked)
#   /ssechunked?wait=FILE   the same with chunked framing
#   /ws               WebSocket: 101, then echoes each text frame back
#   /close            the echo with "Connection: close", then closes
#
# A header "X-Backend-Delay: S" delays any answer by S seconds.  Option
# status => 'NNN' makes every echo answer with that status.

use strict;
use warnings;

use Exporter qw/import/;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw/encode_base64/;
use Digest::SHA qw/sha1/;
use POSIX ();
use Time::HiRes qw/sleep/;

our @EXPORT = qw/backend ws_frame ws_read_frame/;

sub backend {
    my ($t, %o) = @_;
    my $port = $o{port} or die "backend: no port";

    my $ls = IO::Socket::INET->new(
        Proto => 'tcp', LocalAddr => '127.0.0.1', LocalPort => $port,
        Listen => 128, ReuseAddr => 1,
    ) or die "backend: can't listen on $port: $!";

    $t->run_daemon(\&_serve, $ls, \%o);
    close $ls;
    return $port;
}

sub _serve {
    my ($ls, $o) = @_;
    my (@kids, $n);

    $SIG{TERM} = $SIG{INT} = sub {
        kill 'KILL', @kids if @kids;
        POSIX::_exit(0);
    };
    $SIG{CHLD} = sub { 1 while waitpid(-1, POSIX::WNOHANG()) > 0 };

    while (1) {
        my $c = $ls->accept() or next;
        $n++;
        my $pid = fork();
        if (!defined $pid) {
            close $c;
            next;
        }
        if ($pid == 0) {
            $SIG{TERM} = $SIG{INT} = 'DEFAULT';
            close $ls;
            eval { _connection($c, $o, $n) };
            POSIX::_exit(0);
        }
        @kids = grep { kill 0, $_ } @kids;
        push @kids, $pid;
        close $c;
    }
}

sub _connection {
    my ($c, $o, $conn) = @_;

    if ($o->{tls}) {
        require IO::Socket::SSL;
        IO::Socket::SSL->start_SSL($c, SSL_server => 1,
            SSL_cert_file => $o->{tls}{cert},
            SSL_key_file => $o->{tls}{key})
            or return;
        # the name the client sent (SNI), for the echo
        $o = { %$o, sni => $c->get_servername() // '' };
    }

    $c->autoflush(1);
    my $buf = '';
    my $nreq = 0;

    while (1) {
        my $req = _read_request($c, \$buf) or return;
        $nreq++;
        my $keep = _answer($c, $o, $req, $conn, $nreq);
        return unless $keep;
    }
}

sub _fill {
    my ($c, $buf) = @_;
    my $n = sysread($c, $$buf, 65536, length $$buf);
    return $n;
}

sub _read_request {
    my ($c, $buf) = @_;

    while ($$buf !~ /\r\n\r\n/) {
        return undef unless _fill($c, $buf);
    }

    $$buf =~ s/^(.*?)\r\n\r\n//s;
    my @lines = split /\r\n/, $1;
    my ($method, $uri, $version) = split / /, shift(@lines);
    my (%h, @order);
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $k = lc $k;
        push @order, $k unless exists $h{$k};
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }

    my $body = '';
    if (defined $h{'content-length'}) {
        while (length $$buf < $h{'content-length'}) {
            return undef unless _fill($c, $buf);
        }
        $body = substr($$buf, 0, $h{'content-length'}, '');

    } elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        while (1) {
            while ($$buf !~ /\r\n/) {
                return undef unless _fill($c, $buf);
            }
            $$buf =~ s/^([0-9a-fA-F]+)[^\r]*\r\n//
                or return undef;
            my $size = hex $1;
            if ($size == 0) {
                while ($$buf !~ /^\r\n/ && $$buf !~ /\r\n\r\n/) {
                    return undef unless _fill($c, $buf);
                }
                $$buf =~ s/^(?:.*?\r\n)?\r\n//s;
                last;
            }
            while (length $$buf < $size + 2) {
                return undef unless _fill($c, $buf);
            }
            $body .= substr($$buf, 0, $size, '');
            substr($$buf, 0, 2, '');
        }
    }

    return { method => $method, uri => $uri, version => $version,
             headers => \%h, order => \@order, body => $body };
}

sub _echo {
    my ($o, $req, $conn, $nreq) = @_;
    return JSON::PP->new->canonical->encode({
        backend => $o->{id} // '', conn => $conn, req => $nreq,
        method => $req->{method}, uri => $req->{uri},
        version => $req->{version}, headers => $req->{headers},
        order => $req->{order}, body => $req->{body},
        (exists $o->{sni} ? (sni => $o->{sni}) : ()),
    });
}

sub _send {
    my ($c, $data) = @_;
    local $SIG{PIPE} = 'IGNORE';
    return print $c $data;
}

# Returns true to keep the connection.
sub _answer {
    my ($c, $o, $req, $conn, $nreq) = @_;
    my $uri = $req->{uri};
    my ($path, $args) = split /\?/, $uri, 2;
    my %arg = map { split /=/, $_, 2 } split /&/, $args // '';

    sleep $req->{headers}{'x-backend-delay'}
        if $req->{headers}{'x-backend-delay'};

    my $head_only = $req->{method} eq 'HEAD';
    my $body = _echo($o, $req, $conn, $nreq);
    my $status = $o->{status} ? "$o->{status} Forced" : '200 OK';
    my $extra = '';

    if ($path =~ m{/status/(\d+)$}) {
        $status = "$1 Status";

    } elsif ($path =~ m{/slowhead/([\d.]+)$}) {
        sleep $1;

    } elsif ($path =~ m{/slowbody/([\d.]+)$}) {
        my $half = int(length($body) / 2);
        _send($c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            . "Content-Length: " . length($body) . "\r\n\r\n"
            . substr($body, 0, $half));
        sleep $1;
        _send($c, substr($body, $half));
        return 1;

    } elsif ($path =~ m{/closemid$}) {
        _send($c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
            . "0123456789");
        return 0;

    } elsif ($path =~ m{/badstatus$}) {
        _send($c, "HTTP/1.1 abc\r\nX: y\r\n\r\nbroken");
        return 0;

    } elsif ($path =~ m{/hugeheaders$}) {
        _send($c, "HTTP/1.1 200 OK\r\n"
            . join('', map { "X-Huge-$_: " . ('h' x 1000) . "\r\n" } 1 .. 64)
            . "Content-Length: 2\r\n\r\nok");
        return 1;

    } elsif ($path =~ m{/chunked$}) {
        _send($c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
            . "Trailer: X-Trailer\r\n\r\n"
            . "5\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n");
        return 1;

    } elsif ($path =~ m{/hop$}) {
        $extra = "Connection: X-Hop-Listed\r\nX-Hop-Listed: 1\r\n"
            . "Keep-Alive: timeout=5\r\nProxy-Thing: 1\r\nX-Pad: pad\r\n"
            . "X-Accel-Redirect: /x\r\nX-Kept: kept\r\nX-Secret: s\r\n"
            . "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nServer: perl\r\n";

    } elsif ($path =~ m{/big/(\d+)$}) {
        my $n = $1;
        my $type = $arg{type} ? "Content-Type: $arg{type}\r\n" : '';
        _send($c, "HTTP/1.1 200 OK\r\n${type}Content-Length: $n\r\n\r\n");
        return 1 if $head_only;
        my $chunk = 'x' x 65536;
        while ($n > 0) {
            my $k = $n > 65536 ? 65536 : $n;
            _send($c, substr($chunk, 0, $k)) or return 0;
            $n -= $k;
        }
        return 1;

    } elsif ($path =~ m{/sse(chunked)?$}) {
        my $chunked = $1;
        my @events = ("data: one\n\n", "data: two\n\n");
        my $frame = sub {
            my $e = shift;
            return $chunked ? sprintf("%x\r\n%s\r\n", length $e, $e) : $e;
        };
        _send($c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            . ($chunked ? "Transfer-Encoding: chunked\r\n"
                        : "Connection: close\r\n")
            . "\r\n" . $frame->($events[0]));
        my $deadline = time() + 20;
        sleep 0.02 while $arg{wait} && !-e $arg{wait} && time() < $deadline;
        _send($c, $frame->($events[1]) . ($chunked ? "0\r\n\r\n" : ''));
        return $chunked ? 1 : 0;

    } elsif ($path =~ m{/ws$}) {
        my $key = $req->{headers}{'sec-websocket-key'} // '';
        my $accept = encode_base64(
            sha1($key . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'), '');
        _send($c, "HTTP/1.1 101 Switching Protocols\r\n"
            . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            . "Sec-WebSocket-Accept: $accept\r\n\r\n");
        my $buf = '';
        while (1) {
            my ($op, $payload) = ws_read_frame($c, \$buf);
            return 0 unless defined $op;
            if ($op == 8) {
                _send($c, ws_frame($payload, 8, 0));
                return 0;
            }
            _send($c, ws_frame("echo: $payload", 1, 0));
        }

    } elsif ($path =~ m{/close$}) {
        $extra = "Connection: close\r\n";
        _send($c, "HTTP/1.1 200 OK\r\n$extra"
            . "Content-Length: " . length($body) . "\r\n\r\n" . $body);
        return 0;
    }

    _send($c, "HTTP/1.1 $status\r\nContent-Type: application/json\r\n"
        . $extra . "Content-Length: " . length($body) . "\r\n\r\n"
        . ($head_only ? '' : $body));

    return 1;
}

# A WebSocket frame (FIN set); masked when $mask (clients must mask).
sub ws_frame {
    my ($payload, $op, $mask) = @_;
    $op //= 1;
    my $len = length $payload;
    my $f = chr(0x80 | $op);
    my $m = $mask ? 0x80 : 0;
    if ($len < 126) {
        $f .= chr($m | $len);
    } elsif ($len < 65536) {
        $f .= chr($m | 126) . pack('n', $len);
    } else {
        $f .= chr($m | 127) . pack('Q>', $len);
    }
    if ($mask) {
        my $key = pack('N', int(rand(2**32)));
        my @k = unpack('C4', $key);
        my $i = 0;
        $payload = join '', map { chr(ord($_) ^ $k[$i++ % 4]) }
            split //, $payload;
        $f .= $key;
    }
    return $f . $payload;
}

# Reads one frame from $s (bytes left over stay in $$buf); returns
# (opcode, unmasked payload), or () at EOF.
sub ws_read_frame {
    my ($s, $buf) = @_;
    my $need = sub {
        my $n = shift;
        while (length $$buf < $n) {
            my $r = sysread($s, $$buf, 65536, length $$buf);
            return 0 unless $r;
        }
        return 1;
    };

    $need->(2) or return;
    my ($b0, $b1) = unpack('CC', $$buf);
    my $op = $b0 & 0x0f;
    my $masked = $b1 & 0x80;
    my $len = $b1 & 0x7f;
    my $off = 2;
    if ($len == 126) {
        $need->(4) or return;
        $len = unpack('n', substr($$buf, 2, 2));
        $off = 4;
    } elsif ($len == 127) {
        $need->(10) or return;
        $len = unpack('Q>', substr($$buf, 2, 8));
        $off = 10;
    }
    my $klen = $masked ? 4 : 0;
    $need->($off + $klen + $len) or return;
    my @k = $masked ? unpack('C4', substr($$buf, $off, 4)) : ();
    my $payload = substr($$buf, $off + $klen, $len);
    substr($$buf, 0, $off + $klen + $len, '');
    if ($masked) {
        my $i = 0;
        $payload = join '', map { chr(ord($_) ^ $k[$i++ % 4]) }
            split //, $payload;
    }
    return ($op, $payload);
}

1;
