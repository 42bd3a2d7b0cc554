import {
  BadRequestException,
  Controller,
  Get,
  Header,
  NotFoundException,
  Param,
  ParseIntPipe,
  ParseUUIDPipe,
  Query,
} from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { foldStacks, formatFolded } from '@threadreel/analysis';
import {
  FOLD_GROUPS,
  parseNanos,
  type FoldGroupBy,
  type SamplesPage,
  type SampleTimeline,
  type ThreadSummary,
} from '@threadreel/model';
import { CaptureStore, SampleReader } from '@threadreel/store';

const MAX_SAMPLES = 10_000;

@ApiTags('profiles')
@Controller('api/captures/:id')
export class ProfilesController {
  constructor(
    private readonly captures: CaptureStore,
    private readonly reader: SampleReader,
  ) {}

  private async mustExist(id: string): Promise<void> {
    if (!(await this.captures.exists(id))) throw new NotFoundException(`capture ${id} not found`);
  }

  @Get('threads')
  @ApiOperation({ summary: 'Threads of a capture with on-CPU sample counts and first/last sample time (ns)' })
  async threads(@Param('id', new ParseUUIDPipe()) id: string): Promise<ThreadSummary[]> {
    await this.mustExist(id);
    return this.reader.threads(id);
  }

  @Get('events')
  @ApiOperation({
    summary:
      'Event names of the capture (cpu-clock, sched:sched_switch…) with record counts and the default fold event',
  })
  async events(@Param('id', new ParseUUIDPipe()) id: string): Promise<{
    defaultFoldEvent: string | null;
    events: { name: string; tracepoint: boolean; records: string }[];
  }> {
    await this.mustExist(id);
    const [events, defaultFoldEvent] = await Promise.all([
      this.reader.events(id),
      this.reader.defaultFoldEvent(id),
    ]);
    return { defaultFoldEvent, events };
  }

  @Get('threads/:threadId/samples')
  @ApiOperation({ summary: "One thread's samples in [from, to) (ns), oldest first, stacks leaf first" })
  @ApiQuery({ name: 'from', required: false })
  @ApiQuery({ name: 'to', required: false })
  @ApiQuery({ name: 'limit', required: false })
  async samples(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('threadId', new ParseIntPipe()) threadId: number,
    @Query('from') fromText?: string,
    @Query('to') toText?: string,
    @Query('limit') limitText?: string,
  ): Promise<SamplesPage> {
    await this.mustExist(id);
    const from = optionalNanos('from', fromText);
    const to = optionalNanos('to', toText);
    if (from !== null && to !== null && to < from)
      throw new BadRequestException('to must not be before from');
    const limit = limitText === undefined ? 1000 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SAMPLES) {
      throw new BadRequestException(`limit: expected a whole number from 1 to ${MAX_SAMPLES}`);
    }
    if (!(await this.reader.threadExists(id, threadId)))
      throw new NotFoundException(`thread ${threadId} not found in capture ${id}`);
    const page = await this.reader.samples(id, threadId, from, to, limit);
    return { threadId, from: from?.toString() ?? null, to: to?.toString() ?? null, ...page };
  }

  @Get('folded')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiOperation({
    summary: "Folded stacks (Brendan Gregg's format) of one event",
    description:
      'groupBy=tid|pid|none puts comm-pid/tid, comm-pid or comm as the root frame; annotate=kernel,jit (or all) suffixes kernel frames _[k] and JIT frames _[j]; event defaults to the first event of the first perf file.',
  })
  @ApiQuery({ name: 'groupBy', required: false, enum: FOLD_GROUPS })
  @ApiQuery({ name: 'annotate', required: false })
  @ApiQuery({ name: 'event', required: false })
  async folded(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query('groupBy') groupBy: string = 'tid',
    @Query('annotate') annotate: string = '',
    @Query('event') event?: string,
  ): Promise<string> {
    await this.mustExist(id);
    if (!(FOLD_GROUPS as readonly string[]).includes(groupBy)) {
      throw new BadRequestException(`groupBy: expected one of ${FOLD_GROUPS.join(', ')}`);
    }
    const marks = new Set(
      annotate
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
    for (const m of marks) {
      if (!['kernel', 'jit', 'all'].includes(m))
        throw new BadRequestException(`annotate: unknown "${m}", expected kernel, jit or all`);
    }
    const chosen = event ?? (await this.reader.defaultFoldEvent(id));
    if (chosen === null) return '';
    const rows = await this.reader.foldRows(id, chosen);
    const folded = foldStacks(rows, {
      groupBy: groupBy as FoldGroupBy,
      annotateKernel: marks.has('kernel') || marks.has('all'),
      annotateJit: marks.has('jit') || marks.has('all'),
      event: chosen,
    });
    return formatFolded(folded);
  }

  @Get('timeline')
  @ApiOperation({ summary: 'On-CPU samples per thread per time bucket' })
  @ApiQuery({ name: 'buckets', required: false })
  async timeline(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query('buckets') bucketsText?: string,
  ): Promise<SampleTimeline> {
    await this.mustExist(id);
    const buckets = bucketsText === undefined ? 200 : Number(bucketsText);
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > 5000) {
      throw new BadRequestException('buckets: expected a whole number from 1 to 5000');
    }
    return this.reader.timeline(id, buckets);
  }
}

function optionalNanos(name: string, text: string | undefined): bigint | null {
  if (text === undefined || text === '') return null;
  const ns = parseNanos(text);
  if (ns === null)
    throw new BadRequestException(`${name}: expected integer nanoseconds, got ${JSON.stringify(text)}`);
  return ns;
}
